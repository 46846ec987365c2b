export { Dataset, type DatasetInit } from './dataset.ts';
export {
  loadDataset,
  candidateDirs,
  DATASET_CATALOG,
  DATASET_NAMES,
  DATA_ENV_VAR,
  type DatasetName,
  type Split,
  type LoadDatasetOptions,
} from './load-dataset.ts';
export { readIdxImages, readIdxLabels, parseIdx, readMaybeGzipped, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, type IdxImages } from './idx.ts';
export { readCifar10, CIFAR10_RECORD_BYTES } from './cifar10.ts';
export { DataLoader, deriveSeed, type Batch, type DataLoaderOptions } from './data-loader.ts';
export {
  RandomCrop,
  RandomHorizontalFlip,
  Compose,
  cropWithPadding,
  flipWhere,
  type BatchTransform,
  type CropOffsets,
} from './augment.ts';
export { calibrationSet } from './calibration-set.ts';
export { loadUserData, checkNormalization, decodeImage, resize, type UserDataSource, type UserDataOptions, type Normalization } from './user-data.ts';
export { decodePng, isPng, type DecodedImage } from './png.ts';
export { parseNpy, encodeNpy, type NpyArray, type NpyDtype } from './npy.ts';
export { checkDatasetFits, type ModelInputSpec } from './check-fit.ts';
export { augmentationPolicy, defaultAugmentation, type AugmentationPolicy } from './default-augmentation.ts';
export {
  datasetMetadata,
  readDatasetMetadata,
  checkDatasetMatches,
  provenanceOf,
  baseDatasetName,
  DATASET_KEY,
  NORMALIZATION_KEY,
  CLASSES_KEY,
  type DataProvenance,
} from './provenance.ts';
export { loadData, dataSpecName, isUserData, resolveUserSource, type DataSpec, type UserDataSpec } from './data-spec.ts';
