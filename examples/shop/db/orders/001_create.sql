-- The orders table and the three orders the shop starts with. The same SQL runs on SQLite (the
-- default) and PostgreSQL (environment prod): ids are chosen by the application, not by a
-- dialect's own sequence.
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    item_id integer NOT NULL,
    quantity integer NOT NULL
);
INSERT INTO orders (id, item_id, quantity) VALUES (1, 1, 2), (2, 3, 1), (3, 2, 4);
