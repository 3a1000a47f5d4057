/** GraphQL document helpers shared by the gateway and the platform. */
export { fragmentDefinitions, reachableFragments, selectedFields, type SelectedField, type SelectedFieldsOptions } from './fields.js';
