/** apimachinery's field.Error wording: causes collected for a 422 Invalid reply. */
import type { FieldCause } from './status.js';

export function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === undefined ? 'null' : JSON.stringify(v);
}

/** Collects causes with apimachinery's field.Error wording. */
export class FieldErrors {
  readonly list: FieldCause[] = [];
  required(field: string, detail = ''): void {
    this.list.push({ type: 'FieldValueRequired', field, message: detail === '' ? 'Required value' : `Required value: ${detail}` });
  }
  invalid(field: string, value: unknown, detail: string): void {
    this.list.push({ type: 'FieldValueInvalid', field, message: `Invalid value: ${show(value)}: ${detail}` });
  }
  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.list.push({ type: 'FieldValueNotSupported', field, message: `Unsupported value: ${show(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}` });
  }
  duplicate(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueDuplicate', field, message: `Duplicate value: ${show(value)}` });
  }
  forbidden(field: string, detail: string): void {
    this.list.push({ type: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` });
  }
  tooLong(field: string, maxBytes: number): void {
    this.list.push({ type: 'FieldValueTooLong', field, message: `Too long: may not be more than ${maxBytes} bytes` });
  }
  notFound(field: string, value: unknown): void {
    this.list.push({ type: 'FieldValueNotFound', field, message: `Not found: ${show(value)}` });
  }
  /** Reports each problem string from a names.ts check as an Invalid cause. */
  check(field: string, value: string, problems: readonly string[]): void {
    for (const p of problems) this.invalid(field, value, p);
  }
  oneOf(field: string, value: unknown, allowed: readonly string[], required = false): void {
    if (value === undefined || value === null || value === '') {
      if (required) this.required(field);
      return;
    }
    if (typeof value !== 'string' || !allowed.includes(value)) this.notSupported(field, value, allowed);
  }
  nonNegative(field: string, value: unknown): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      this.invalid(field, value, 'must be greater than or equal to 0');
    }
  }
}
