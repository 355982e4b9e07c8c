// docs/contract-register.md must name every message and enum of the proto, so a new contract cannot land without
// its producer and consumer being written down.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = fileURLToPath(new URL('..', import.meta.url));

test('the contract register names every Leyline message and enum', (t) => {
  const register = readFileSync(join(root, 'docs', 'contract-register.md'), 'utf8');
  const leyline = protobuf.loadSync(join(root, 'contracts', 'leyline', 'leyline.proto')).lookup('esper.leyline.v1');
  t.truthy(leyline);
  const names: string[] = [];
  const walk = (ns: protobuf.NamespaceBase, prefix: string): void => {
    for (const item of ns.nestedArray) {
      if (item instanceof protobuf.Type || item instanceof protobuf.Enum) names.push(`${prefix}${item.name}`);
      if (item instanceof protobuf.Type) walk(item, `${prefix}${item.name}.`);
    }
  };
  walk(leyline as protobuf.Namespace, '');
  t.true(names.length > 60);
  const missing = names.filter((name) => !register.includes(`\`${name}\``));
  t.deepEqual(missing, [], 'add these to docs/contract-register.md (producer → consumer)');
});
