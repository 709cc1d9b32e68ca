import { readFileSync } from 'fs';
import { parse, stringify, Parser, Composer, LineCounter } from 'yaml';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const text = readFileSync('/tmp/mixed.yaml', 'utf8');
const block = stringify(parse(text), { lineWidth: 0 });
const json = JSON.stringify(parse(text));
console.log('sizes', text.length, block.length, json.length);
for (let i = 0; i < 4; i++) {
  let t = cpu(); parse(text); const a = cpu() - t;
  t = cpu(); parse(block); const b = cpu() - t;
  t = cpu(); JSON.parse(json); const c = cpu() - t;
  t = cpu(); const toks = Array.from(new Parser().parse(text)); const d = cpu() - t;
  t = cpu(); Array.from(new Composer({}).compose(toks)); const e = cpu() - t;
  console.log({ mixedParse: a, blockParse: b, jsonParse: c, cst: d, compose: e });
}
