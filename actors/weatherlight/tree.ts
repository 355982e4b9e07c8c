// Turns the configured tree (data) into supervisor specs (logic), resolving worker kinds from the registry.
import { ConfigError, type TreeNode } from './esper-config.ts';
import type { ChildSpec, SupervisorSpec } from '../../supervision/child-spec.ts';
import type { WorkerDeps, WorkerFactory } from './workers.ts';

export function buildTree(
  node: TreeNode,
  kinds: Readonly<Record<string, WorkerFactory>>,
  deps: WorkerDeps,
  field = 'weatherlight.tree',
): SupervisorSpec {
  if (!node.children) throw new ConfigError(field, `(${node.id}) the root of the tree must be a supervisor`);
  return buildSupervisor(node, kinds, deps, field);
}

function buildSupervisor(
  node: TreeNode,
  kinds: Readonly<Record<string, WorkerFactory>>,
  deps: WorkerDeps,
  field: string,
): SupervisorSpec {
  return {
    id: node.id,
    ...(node.flags ? { flags: node.flags } : {}),
    ...(node.restart !== undefined ? { restart: node.restart } : {}),
    ...(node.shutdownMs !== undefined ? { shutdownMs: node.shutdownMs } : {}),
    children: (node.children ?? []).map((child, i) => buildChild(child, kinds, deps, `${field}.children[${i}]`)),
  };
}

function buildChild(
  node: TreeNode,
  kinds: Readonly<Record<string, WorkerFactory>>,
  deps: WorkerDeps,
  field: string,
): ChildSpec {
  if (node.children) return buildSupervisor(node, kinds, deps, field);
  const kind = node.worker ?? '';
  const factory = kinds[kind];
  if (!factory) {
    throw new ConfigError(
      `${field}.worker`,
      `(${node.id}) unknown worker kind ${JSON.stringify(kind)}; known: ${Object.keys(kinds).join(', ')}`,
    );
  }
  return {
    id: node.id,
    logic: factory(deps),
    ...(node.restart !== undefined ? { restart: node.restart } : {}),
    ...(node.shutdownMs !== undefined ? { shutdownMs: node.shutdownMs } : {}),
    ...(node.mailboxCapacity !== undefined ? { mailboxCapacity: node.mailboxCapacity } : {}),
  };
}

/** The actor path of the first worker of `kind` in the tree, or null. */
export function pathOfKind(node: TreeNode, kind: string, parent = ''): string | null {
  const path = `${parent}/${node.id}`;
  if (node.worker === kind) return path;
  for (const child of node.children ?? []) {
    const found = pathOfKind(child, kind, path);
    if (found) return found;
  }
  return null;
}
