// CustomResourceDefinitions: validation, the serving descriptor, status conditions and the
// JSONPath subset of printer columns.
export { validateCustomResourceDefinition, PRINTER_COLUMN_FORMATS, PRINTER_COLUMN_TYPES } from './validate-crd';
export {
  acceptedNamesOf,
  crdStatusConditions,
  crdToDefinition,
  type AcceptedNames,
  type CrdCondition,
  type CrdStatus,
  type CrdStatusOptions,
  type CustomResourceDescriptor,
  type CustomResourceVersion,
  type PrinterColumn,
  type ScaleSubresource,
} from './descriptor';
export { evaluatePrinterColumn, parseJsonPath, selectJsonPath, type JsonPathStep } from './jsonpath';
