/** The form for one integration, built from the fields the server derives from its provider definition. */
import type { FormField, Integration } from './api.js';
import { h } from './dom.js';
import { type Strings, fieldLabel } from './strings.js';

export interface FilledForm {
  credentials: Record<string, string>;
  connectionConfig: Record<string, string>;
}

interface Control {
  field: FormField;
  group: 'credentials' | 'connectionConfig';
  input: HTMLInputElement | HTMLTextAreaElement;
  message: HTMLElement;
}

/** The inputs of the form and a check that mirrors the server's (required, pattern). */
export function buildFields(
  integration: Integration,
  strings: Strings,
): { nodes: HTMLElement[]; check(): FilledForm | null } {
  const controls: Control[] = [];
  const add = (field: FormField, group: Control['group']) => {
    const id = `field-${group}-${field.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    const attributes = {
      id,
      name: field.name,
      required: !field.optional,
      'aria-describedby': `${id}-message`,
      autocomplete: 'off',
      spellcheck: 'false',
    };
    const input =
      field.input === 'multiline'
        ? h('textarea', { ...attributes, rows: '5' })
        : h('input', { ...attributes, type: field.input === 'secret' ? 'password' : 'text' });
    if (field.default_value !== undefined) input.value = field.default_value;
    const message = h('p', { id: `${id}-message`, class: 'field-message' });
    controls.push({ field, group, input, message });
  };
  integration.form.connection_config.forEach((field) => add(field, 'connectionConfig'));
  integration.form.credentials.forEach((field) => add(field, 'credentials'));
  const nodes = controls.map(({ field, input, message }) =>
    h(
      'div',
      { class: 'field' },
      h('label', { for: input.id }, fieldLabel(strings, field.name), field.optional && ` (${strings.optional})`),
      input,
      message,
    ),
  );
  const check = (): FilledForm | null => {
    const filled: FilledForm = { credentials: {}, connectionConfig: {} };
    let firstInvalid: Control | undefined;
    for (const control of controls) {
      const value = control.input.value.trim();
      const problem =
        value === ''
          ? control.field.optional
            ? null
            : strings.required
          : control.field.pattern !== undefined && !new RegExp(control.field.pattern).test(value)
            ? strings.badForm
            : null;
      control.message.textContent = problem ?? '';
      control.input.setAttribute('aria-invalid', problem ? 'true' : 'false');
      if (problem) firstInvalid ??= control;
      // Secrets are sent as typed (a password may end in a space); other values trimmed.
      else if (value !== '')
        filled[control.group][control.field.name] = control.field.input === 'text' ? value : control.input.value;
    }
    if (firstInvalid) {
      firstInvalid.input.focus();
      return null;
    }
    return filled;
  };
  return { nodes, check };
}

/** The body the integration's route takes, as `@nangohq/frontend` would post it (nested for dotted names). */
export function bodyOf(integration: Integration, credentials: Record<string, string>): Record<string, unknown> | null {
  const { body_type: type, route } = integration.form;
  if (route === 'auth/unauthenticated') return null;
  const body: Record<string, unknown> = type ? { type } : {};
  for (const [name, value] of Object.entries(credentials)) {
    const [head, tail] = name.split('.', 2) as [string, string | undefined];
    if (tail === undefined) body[head] = value;
    else body[head] = { ...(body[head] as Record<string, unknown> | undefined), [tail]: value };
  }
  return body;
}
