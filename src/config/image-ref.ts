/**
 * Container image references, by the grammar of github.com/distribution/reference (regexp.go,
 * reference.go), the one Docker, containerd and ACR use:
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*      (at most 255 characters)
 *   domain     := host [":" port]   host: DNS-like components or [IPv6]
 *   path-component := [a-z0-9]+ (separator [a-z0-9]+)*   separator: "." | "_" | "__" | "-"+
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex{32,}   (sha256: 64, sha384: 96, sha512: 128 lowercase hex, as go-digest validates)
 *
 * Messages describe the problem, never the value.
 */

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;
const tag = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';

const REFERENCE = new RegExp(`^(${namePat})(?::(${tag}))?(?:@(${digestPat}))?$`);
/** A registry host as `server` of a profile's `registry`: host[:port]. */
export const REGISTRY_HOST = new RegExp(`^${domainAndPort}$`);

/** Encoded lengths go-digest accepts per algorithm (lowercase hex). */
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** NameTotalLengthMax in distribution/reference. */
const NAME_MAX = 255;

const FORM =
  'must be an image reference [registry/]repository[:tag][@sha256:digest], e.g. myacr.azurecr.io/azp-agent:4.269.0';

/** Why `ref` is not an image reference, or undefined when it is. */
export function imageReferenceProblem(ref: string): string | undefined {
  if (/\s/.test(ref)) return `${FORM} (no spaces or line breaks)`;
  const m = REFERENCE.exec(ref);
  if (!m) {
    if (REFERENCE.test(ref.toLowerCase())) return `${FORM} (the repository must be lowercase)`;
    return FORM;
  }
  if (m[1]!.length > NAME_MAX) return `${FORM} (the name is longer than ${NAME_MAX} characters)`;
  const digest = m[3];
  if (digest !== undefined) {
    const [algorithm, hex] = digest.split(':') as [string, string];
    const length = DIGEST_HEX[algorithm];
    if (length === undefined) return `${FORM} (digest algorithm must be sha256, sha384 or sha512)`;
    if (hex.length !== length || !/^[0-9a-f]+$/.test(hex))
      return `${FORM} (a ${algorithm} digest is ${length} lowercase hex digits)`;
  }
  return undefined;
}
