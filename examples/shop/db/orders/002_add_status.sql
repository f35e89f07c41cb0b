-- Expand: a column with a default, so the revision still running (which does not know it) keeps
-- inserting rows. Runs before the first instance of the revision that reads it starts.
ALTER TABLE orders ADD COLUMN status varchar(20) NOT NULL DEFAULT 'placed';
