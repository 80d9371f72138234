/**
 * A user agent summarized for people: "Firefox on Linux", "Safari on iPhone", "curl". Deliberately small:
 * it names the common browsers, systems and tools and says "Unknown device" otherwise; the raw string is
 * shown beside it. Order matters: Edge and Opera also claim Chrome, Chrome also claims Safari, and Android
 * also claims Linux.
 */
const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\bOPR\/|\bOpera\b/, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
  [/\bCriOS\/|\bChrom(?:e|ium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\/|\bAppleWebKit\/.*\bMobile\/\w+$/, 'Safari'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

/** Command-line tools and libraries: their product name is the whole story. */
const TOOLS: Array<[RegExp, string]> = [
  [/^curl\//, 'curl'],
  [/^Wget\//, 'Wget'],
  [/^conclave\//i, 'Conclave CLI'],
  [/^python-requests\//, 'Python requests'],
  [/^node\b|^undici\b/i, 'Node.js'],
  [/^Go-http-client\//, 'Go HTTP client'],
  [/^PostmanRuntime\//, 'Postman'],
];

export const UNKNOWN_DEVICE = 'Unknown device';

export const summarizeUserAgent = (userAgent: string | null | undefined): string => {
  const ua = userAgent?.trim().slice(0, 512);
  if (!ua) return UNKNOWN_DEVICE;
  const tool = TOOLS.find(([pattern]) => pattern.test(ua));
  if (tool) return tool[1];
  const browser = BROWSERS.find(([pattern]) => pattern.test(ua))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(ua))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? UNKNOWN_DEVICE;
};
