// Reads Parquet files with DuckDB (npm's @duckdb/node-api, loaded from
// $DUCKDB_DIR/node_modules) and prints, as one JSON object, the columns'
// types, the rows (path, embedding) in path order, and the key-value
// metadata of the first file:
//
//   node duckdb_read.cjs 'DIR/part-*.parquet' DIR/part-00000.parquet
const path = require('path');
const { DuckDBInstance } = require(path.join(process.env.DUCKDB_DIR, 'node_modules', '@duckdb', 'node-api'));

async function main() {
  const [glob, first] = process.argv.slice(2);
  const quote = (s) => "'" + s.replaceAll("'", "''") + "'";
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const rows = async (q) => (await c.runAndReadAll(q)).getRowObjectsJson();
  const out = {
    columns: await rows(`SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet(${quote(glob)}))`),
    rows: await rows(`SELECT path, embedding FROM read_parquet(${quote(glob)}) ORDER BY path`),
    metadata: await rows(`SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${quote(first)})`),
  };
  process.stdout.write(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
