// Validates every GraphQL document in src/ against the server's schema files
// (../graph/schema/*.graphqls) — no running server needed. Catches a field
// that was renamed or removed on the Go side before a user does.
//
//   npm run check:documents
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Kind, buildASTSchema, parse, validate, visit } from "graphql";

const root = fileURLToPath(new URL("..", import.meta.url));
const schemaDir = join(root, "..", "graph", "schema");

const sdl = readdirSync(schemaDir)
  .filter((f) => f.endsWith(".graphqls") || f.endsWith(".graphql"))
  .sort()
  .map((f) => readFileSync(join(schemaDir, f), "utf8"))
  .join("\n");
// gqlgen's directives (@goModel, @goField) may be declared by the generated
// ent.graphql or only in gqlgen's config: declare the missing ones.
const gqlgenDirectives = {
  goModel: "directive @goModel(model: String, models: [String!], forceGenerate: Boolean) on OBJECT | INPUT_OBJECT | SCALAR | ENUM | INTERFACE | UNION",
  goField: "directive @goField(forceResolver: Boolean, name: String, omittable: Boolean, type: String) on INPUT_FIELD_DEFINITION | FIELD_DEFINITION",
  goEnum: "directive @goEnum(value: String) on ENUM_VALUE",
};
const missing = Object.entries(gqlgenDirectives)
  .filter(([name]) => !new RegExp(`directive\\s+@${name}\\b`).test(sdl))
  .map(([, d]) => d);
const schema = buildASTSchema(parse([...missing, sdl].join("\n")));

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|tsx)$/.test(name)) yield p;
  }
}

// gql`...` and gql<Result, Variables>`...`; interpolations are fragments, added by name below.
const tagged = /\bgql(?:<[^`]*?>)?`([^`]*)`/g;
const docs = [];
const fragments = new Map();
for (const file of files(join(root, "src"))) {
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(tagged)) {
    const body = m[1].replace(/\$\{[^}]*\}/g, "");
    const where = `${relative(root, file)}:${text.slice(0, m.index).split("\n").length}`;
    let doc;
    try {
      doc = parse(body);
    } catch (e) {
      console.error(`${where}: ${e.message}`);
      process.exitCode = 1;
      continue;
    }
    for (const def of doc.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
    docs.push({ where, doc });
  }
}

function spreads(node, out = new Set()) {
  visit(node, {
    FragmentSpread(s) {
      if (!out.has(s.name.value)) {
        out.add(s.name.value);
        const f = fragments.get(s.name.value);
        if (f) spreads(f, out);
      }
    },
  });
  return out;
}

let operations = 0;
for (const { where, doc } of docs) {
  const ops = doc.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  if (ops.length === 0) continue;
  operations += ops.length;
  const own = new Set(doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => d.name.value));
  const needed = [...spreads(doc)].filter((n) => !own.has(n)).map((n) => fragments.get(n)).filter(Boolean);
  const full = { ...doc, definitions: [...doc.definitions, ...needed] };
  for (const err of validate(schema, full)) {
    console.error(`${where}: ${err.message}`);
    process.exitCode = 1;
  }
}
console.log(`${operations} operations checked against ${relative(root, schemaDir)}${process.exitCode ? " — errors above" : ": all valid"}`);
