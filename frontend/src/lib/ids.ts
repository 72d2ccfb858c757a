/** A new conversation id: "web-" + 24 random hex digits (matches the server's ^[A-Za-z0-9_-]{1,64}$). */
export function newSessionId(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = random(new Uint8Array(12));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
