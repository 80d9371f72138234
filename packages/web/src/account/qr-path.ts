/**
 * The dark modules of a QR code as one SVG path ("M x y h1 v1 h-1 z" a module, runs of a row merged), inside a
 * quiet zone of `margin` modules. One <path> instead of hundreds of <rect>s, and no markup built from strings.
 */
export const qrPath = (size: number, isDark: (row: number, col: number) => boolean, margin = 4): { d: string; viewBox: string } => {
  const parts: string[] = [];
  for (let row = 0; row < size; row += 1) {
    let col = 0;
    while (col < size) {
      if (!isDark(row, col)) {
        col += 1;
        continue;
      }
      const start = col;
      while (col < size && isDark(row, col)) col += 1;
      parts.push(`M${start + margin} ${row + margin}h${col - start}v1h-${col - start}z`);
    }
  }
  const full = size + margin * 2;
  return { d: parts.join(''), viewBox: `0 0 ${full} ${full}` };
};
