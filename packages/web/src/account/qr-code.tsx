import qrcode from 'qrcode-generator';
import { useMemo } from 'react';
import { qrPath } from './qr-path.ts';

/**
 * A QR code drawn as SVG elements by React (qrcode-generator computes the modules): no inline script or style,
 * no data: URL, nothing the CSP refuses. Error correction M, the size chosen by the length of the text.
 */
export const QrCode = ({ text, label }: { text: string; label: string }) => {
  const { d, viewBox } = useMemo(() => {
    const code = qrcode(0, 'M');
    code.addData(text, 'Byte');
    code.make();
    return qrPath(code.getModuleCount(), (row, col) => code.isDark(row, col));
  }, [text]);
  return (
    <svg className="qr-code" viewBox={viewBox} role="img" aria-label={label} shapeRendering="crispEdges">
      <rect width="100%" height="100%" fill="#ffffff" />
      <path d={d} fill="#000000" />
    </svg>
  );
};
