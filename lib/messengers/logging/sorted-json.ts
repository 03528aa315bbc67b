/** JSON with object keys sorted recursively, as Python's `json.dumps(sort_keys=True)`. */
export function stringifySorted(value: unknown, indent = 2): string {
  return JSON.stringify(value, sortKeysReplacer, indent);
}

function sortKeysReplacer(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}
