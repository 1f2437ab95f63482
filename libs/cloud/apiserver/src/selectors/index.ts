// Label and field selectors for list and watch.
export {
  SelectorParseError,
  labelSelectorFromMap,
  matchesLabels,
  parseLabelSelector,
  type LabelOperator,
  type LabelRequirement,
} from './label-selector';
export { matchesFields, parseFieldSelector, pinnedFieldValue, type FieldRequirement } from './field-selector';
