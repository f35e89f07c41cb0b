// A line diff by longest common subsequence: enough for specs of a few hundred lines; unchanged runs are folded to 3 lines of context.
export function diffLines(before, after) {
  const a = before ? before.split('\n') : [];
  const b = after.split('\n');
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push(['same', a[i]]); i++; j++; }
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) out.push(['del', a[i++]]);
    else out.push(['add', b[j++]]);
  }
  return fold(out);
}

function fold(lines) {
  const keep = lines.map((line, k) => line[0] !== 'same' || lines.slice(Math.max(0, k - 3), k + 4).some(x => x[0] !== 'same'));
  const out = [];
  for (let k = 0; k < lines.length; k++) {
    if (keep[k]) out.push(lines[k]);
    else if (keep[k - 1] !== false) out.push(['fold', '…']);
  }
  return out;
}
