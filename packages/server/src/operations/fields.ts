import { NODE_OPERATIONS, type OperationType } from '@ringmaster/operator';
import { InputError } from '../errors.ts';

/** The fields of a NodeOperation request. */
export interface OperationFields {
  type: OperationType;
  node?: string;
  image?: string;
  traffic?: 'serving' | 'dark';
  source?: { appCluster: string };
}

/** Which fields each operation type takes: a missing or a foreign one is refused with the field and the reason. */
export function checkOperationFields(body: OperationFields): void {
  const isNodeOp = (NODE_OPERATIONS as readonly string[]).includes(body.type);
  if (isNodeOp && !body.node) throw new InputError(`node: is required for type ${body.type}`, 'node');
  if (!isNodeOp && body.node) throw new InputError(`node: type ${body.type} acts on the whole AppCluster and takes no node`, 'node');
  if (body.type === 'upgradeNode' && !body.image) throw new InputError('image: is required for type upgradeNode', 'image');
  if (body.type !== 'upgradeNode' && body.image) throw new InputError(`image: only upgradeNode takes an image (type is ${body.type})`, 'image');
  if (body.type === 'setTraffic' && !body.traffic) throw new InputError('traffic: is required for type setTraffic (serving or dark)', 'traffic');
  if (body.type !== 'setTraffic' && body.traffic) throw new InputError(`traffic: only setTraffic takes traffic (type is ${body.type})`, 'traffic');
  if (body.type === 'copyCache' && !body.source) throw new InputError('source: is required for type copyCache ({"appCluster": NAME})', 'source');
  if (body.type !== 'copyCache' && body.source) throw new InputError(`source: only copyCache takes a source (type is ${body.type})`, 'source');
}
