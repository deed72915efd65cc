/**
 * The fields of a `multipart/form-data` body (RFC 7578), read the way lenient servers read them
 * (Go's mime/multipart, Spring, busboy): delimiters at the start of a line ended by CRLF or a bare
 * LF, the field name from Content-Disposition (quoted, bare, or RFC 5987 `name*`), the value with
 * a quoted-printable or base64 transfer encoding undone. Files count as fields: a server that
 * reads a parameter from either must be seen to. Anything this reader cannot take apart makes
 * the whole body unreadable (undefined), never a partial answer.
 *
 * One pass over the body: Buffer.indexOf for each delimiter, each part's bytes read once.
 */

/** The boundary parameter of a multipart content type, or undefined. */
export function multipartBoundary(contentType: string): string | undefined {
  const match = /;\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^;\s]{1,200}))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  return boundary === undefined || boundary === '' ? undefined : boundary;
}

function fieldName(disposition: string): string | undefined {
  const extended = /(?:^|;)\s*name\*\s*=\s*([^;]*)/i.exec(disposition)?.[1];
  if (extended !== undefined) {
    const quote = extended.indexOf("''");
    const encoded = (quote < 0 ? extended : extended.slice(quote + 2)).trim();
    try {
      return decodeURIComponent(encoded);
    } catch {
      return undefined;
    }
  }
  const match = /(?:^|;)\s*name\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(disposition);
  if (match === null) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

function quotedPrintable(text: string): string {
  const bytes = Buffer.from(
    text
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
        String.fromCharCode(Number.parseInt(hex, 16)),
      ),
    'latin1',
  );
  return bytes.toString('utf8');
}

interface Part {
  headers: Map<string, string>;
  content: Buffer;
}

function splitPart(raw: Buffer): Part | undefined {
  let end = raw.indexOf('\r\n\r\n');
  let skip = 4;
  const bare = raw.indexOf('\n\n');
  if (end < 0 || (bare >= 0 && bare < end)) {
    end = bare;
    skip = 2;
  }
  if (end < 0) return undefined;
  const headers = new Map<string, string>();
  for (const line of raw.toString('latin1', 0, end).split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return undefined;
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, content: raw.subarray(end + skip) };
}

/** The fields of the body in order, or undefined when it cannot be read as multipart. */
export function parseMultipart(
  body: Buffer,
  boundary: string,
): Array<[string, string]> | undefined {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const starts: number[] = [];
  for (let at = body.indexOf(delimiter); at >= 0; at = body.indexOf(delimiter, at + 1)) {
    if (at === 0 || body[at - 1] === 0x0a) starts.push(at);
  }
  if (starts.length === 0) return undefined;
  const fields: Array<[string, string]> = [];
  for (let i = 0; i < starts.length; i++) {
    const after = (starts[i] as number) + delimiter.length;
    if (body[after] === 0x2d && body[after + 1] === 0x2d) return fields; // the close delimiter
    const next = starts[i + 1];
    if (next === undefined) return undefined; // no close delimiter: truncated
    const lineEnd = body.indexOf(0x0a, after);
    if (lineEnd < 0 || lineEnd >= next) return undefined;
    // The part ends before the line break that precedes the next delimiter.
    let end = next - 1;
    if (end > lineEnd && body[end - 1] === 0x0d) end -= 1;
    const part = splitPart(body.subarray(lineEnd + 1, Math.max(lineEnd + 1, end)));
    if (part === undefined) return undefined;
    const name = fieldName(part.headers.get('content-disposition') ?? '');
    if (name === undefined) return undefined;
    if (/^\s*multipart\//i.test(part.headers.get('content-type') ?? '')) return undefined;
    const coding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
    let value: string;
    if (coding === '' || coding === '7bit' || coding === '8bit' || coding === 'binary') {
      value = part.content.toString('utf8');
    } else if (coding === 'quoted-printable') {
      value = quotedPrintable(part.content.toString('latin1'));
    } else if (coding === 'base64') {
      value = Buffer.from(part.content.toString('latin1'), 'base64').toString('utf8');
    } else {
      return undefined;
    }
    fields.push([name, value]);
  }
  return undefined;
}
