// Tolaria's data layer: IDX files → typed-array splits → normalised, shuffled, split → one tensor pair per step.
export { encodeIdx, IDX_TYPE_BYTE, IdxFormatError, isGzip, parseIdx, readIdxFile } from './idx.ts';
export type { IdxArray, IdxDtype, IdxValues } from './idx.ts';
export { DatasetError, loadIdxDataset, MNIST_FILES, mnistDefaultDir } from './dataset.ts';
export type { IdxDatasetFiles, IdxFilePair, LoadIdxOptions } from './dataset.ts';
export { fitStandardization, scaleInPlace, standardizeInPlace } from './normalize.ts';
export type { Standardization } from './normalize.ts';
export { deriveRngSeed, permutation, shuffleSplit, validationSplit } from './split.ts';
export type { ValidationSplitOptions } from './split.ts';
export { Batcher } from './batches.ts';
export type { Batch, BatcherOptions } from './batches.ts';
export { spiralsDataset, SYNTHETIC_CLASSES, SYNTHETIC_FEATURES } from './synthetic.ts';
export type { SyntheticOptions } from './synthetic.ts';
export { featureCount, takeRows } from './types.ts';
export type { Dataset, Split } from './types.ts';
export { prepareDataset } from './prepare.ts';
export type { PrepareOptions, PreparedDataset } from './prepare.ts';
