/**
 * A pure function of a string with its recent answers kept: the same few texts (a seller's id, its
 * device, its IP) come with every one of its orders, and each keyed hash is an HMAC object made anew
 * (10 % of a batch line's own CPU went to hashing its seller again). At most `max` answers are kept;
 * past that the memory starts over.
 */
export function memoByText(fn: (text: string) => string, max = 10_000): (text: string) => string {
  const known = new Map<string, string>();
  return (text) => {
    const had = known.get(text);
    if (had !== undefined) return had;
    const made = fn(text);
    if (known.size >= max) known.clear();
    known.set(text, made);
    return made;
  };
}
