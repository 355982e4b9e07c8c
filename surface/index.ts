// The training surface's public surface: the graft table and the probe. Tolaria owns the training loop, Kasmina
// owns the seeds; this folder is the contract between them, owned by neither (README.md).
export { GraftTable, GraftTableError, type Graft } from './graft-table.ts';
export { TrainingSurface, type SeedProbe } from './training-surface.ts';
