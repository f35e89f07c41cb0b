// Validates a stream of Kubernetes YAML documents (argument: a file) against the official schemas
// of kubernetes-models (generated from Kubernetes' OpenAPI document). Prints one line per problem
// and exits 1 when there is any; an object of a kind it does not know is a problem too.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const text = readFileSync(process.argv[2], "utf8");
let problems = 0;
let count = 0;
for (const doc of parseAllDocuments(text)) {
  const obj = doc.toJS();
  if (obj === null || obj === undefined) continue;
  count++;
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const module = group === "" ? `kubernetes-models/${version}/${obj.kind}` : `kubernetes-models/${group}/${version}/${obj.kind}`;
  const where = `${obj.kind}/${obj.metadata?.name}`;
  let Model;
  try {
    Model = (await import(module))[obj.kind];
  } catch (e) {
    console.log(`${where}: no schema for ${obj.apiVersion} ${obj.kind} (${e.message})`);
    problems++;
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    console.log(`${where}: ${e.message}`);
    problems++;
  }
}
console.log(`${count} objects, ${problems} problems`);
process.exit(problems === 0 && count > 0 ? 0 : 1);
