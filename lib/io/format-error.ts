// The one error every reader and writer in lib/io throws for a file that is
// not what it claims to be (truncated, corrupt, unsupported, unsafe). It
// names the file and what was wrong, so a user knows which checkpoint is bad.

/**
 * A file that is not what it claims to be: truncated, corrupt, of an
 * unsupported form, or unsafe (a pickle that would run code). The message
 * names the file and what was wrong.
 */
export class FileFormatError extends Error {
  /** Always `'FileFormatError'`. */
  override name = 'FileFormatError';
  constructor(
    /** The file's path, or `<bytes>` when the input was a buffer. */
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}
