// The training surface's public surface: the graft table, the probe, and the isolation measurement. Tolaria owns the
// training loop, Kasmina owns the seeds; this folder is the contract between them, owned by neither (README.md).
export { GraftTable, GraftTableError, type Graft } from './graft-table.ts';
export { TrainingSurface, type ProbeHost, type SeedProbe, type SurfaceSlot } from './training-surface.ts';
export {
  DEFAULT_ISOLATION_THRESHOLD,
  measureIsolation,
  type GradientHost,
  type IsolationMeasurement,
  type LabelledBatch,
} from './isolation.ts';
