/**
 * Placeholders of local.settings.sample.json (and the docs): `YOUR-ORG`, `YOUR-VAULT`, `YOUR-ACR`,
 * the all-zero GUID, `change-me-...`. A setting that still holds one is refused, so a copied sample
 * cannot run until it has been filled in.
 */

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
/** `YOUR-ORG`, `YOUR_VAULT`, `YOURACR`: upper case, as the sample writes them (a real `yourco` passes). */
const YOUR = /(^|[^A-Za-z0-9])YOUR[-_]?[A-Z0-9]*(?![a-z])/;
const CHANGE_ME = /change-?me/i;

export function isPlaceholder(value: string): boolean {
  return value.includes(ZERO_GUID) || YOUR.test(value) || CHANGE_ME.test(value);
}

/** The message for a setting that still holds a placeholder; `what` says what belongs there. */
export function placeholderMessage(what: string): string {
  return `replace the placeholder with ${what}`;
}
