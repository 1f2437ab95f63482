import { placeholder } from '@kedge/protocol';
export const p2 = placeholder;
