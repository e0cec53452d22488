// QR codes drawn locally (no remote service): uqr encodes the text into a module matrix and
// this turns the dark modules into one SVG path, which Preact renders as an element — no
// SVG markup is injected, so nothing can carry an inline style past the CSP.
import { encode } from "uqr";

export interface QrShape {
  /** Modules per side, quiet zone included. */
  size: number;
  /** SVG path data of the dark modules, one unit per module. */
  path: string;
}

/** The path of a module matrix (`true` = dark), each row's runs as rectangles, offset by
 * `margin` modules of quiet zone. */
export function matrixPath(matrix: boolean[][], margin = 0): string {
  const parts: string[] = [];
  matrix.forEach((row, y) => {
    let x = 0;
    while (x < row.length) {
      if (!row[x]) {
        x++;
        continue;
      }
      const start = x;
      while (x < row.length && row[x]) x++;
      parts.push(`M${start + margin} ${y + margin}h${x - start}v1h-${x - start}z`);
    }
  });
  return parts.join("");
}

/** The QR code of `text` with a quiet zone of `margin` modules (4 is the standard's). */
export function qrShape(text: string, margin = 4): QrShape {
  const qr = encode(text, { ecc: "M", border: 0 });
  return { size: qr.size + 2 * margin, path: matrixPath(qr.data, margin) };
}
