/**
 * A credential failure in one line. DefaultAzureCredential's AggregateAuthenticationError carries
 * every credential it tried, each with a paragraph of advice and links: a terminal full of text in
 * which "run az login" is hard to find. Kept: the first sentence of each, in the order tried.
 */
interface CredentialErrorLike {
  name?: unknown;
  message?: unknown;
  errors?: unknown;
}

function firstSentence(text: string): string {
  const t = text.replace(/^(Error: )+/, '').trim();
  const end = t.search(/\.(\s|$)/);
  const s = (end >= 0 ? t.slice(0, end) : t).split('\n')[0]!.trim();
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** "no Azure credential (tried: A; B; C)" for an aggregate, the first sentence otherwise. */
export function credentialText(err: CredentialErrorLike): string {
  const message = typeof err.message === 'string' ? err.message : String(err.name);
  const errors = Array.isArray(err.errors) ? (err.errors as CredentialErrorLike[]) : [];
  let tried = errors.map((e) => firstSentence(typeof e.message === 'string' ? e.message : String(e.name)));
  // Without the array (a re-thrown error), the chain's own lines: "CredentialUnavailableError: …".
  if (tried.length === 0)
    tried = message
      .split('\n')
      .slice(1)
      .map((l) => /^\s*\w*Error: (.*)$/.exec(l)?.[1])
      .filter((l): l is string => !!l)
      .map(firstSentence);
  if (tried.length > 0) return `no Azure credential (tried: ${[...new Set(tried)].join('; ')})`;
  return `no Azure credential: ${firstSentence(message)}`;
}
