// Readers of the labels the formatters write, for the round-trip tests:
// each returns the value a label states and its precision (the unit of
// its last digit), so that a test can check |value - read| <= unit / 2.

export interface Read { value: number; unit: number }

const SUFFIX: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** readNumber reads "1,234.5", "-2.5e-7", "200k", "1.25M", "NaN", "+Inf". */
export function readNumber(label: string): Read {
  if (label === 'NaN') return { value: NaN, unit: 0 };
  if (label === '+Inf') return { value: Infinity, unit: 0 };
  if (label === '-Inf') return { value: -Infinity, unit: 0 };
  const m = /^(-?)(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d+))?(?:e(-?\d+))?([kMGT]?)$/.exec(label);
  if (!m) throw new Error(`not a number label: ${JSON.stringify(label)}`);
  const [, sign, int, frac = '', exp, suffix] = m;
  if (exp !== undefined && suffix) throw new Error(`exponent and suffix: ${label}`);
  if (int.includes(',') && exp !== undefined) throw new Error(`grouped mantissa: ${label}`);
  if (int.length > 1 && int[0] === '0') throw new Error(`leading zero: ${label}`);
  if (!int.includes(',') && int.length > 3) throw new Error(`integer part not grouped: ${label}`);
  const scale = exp !== undefined ? Math.pow(10, Number(exp)) : suffix ? SUFFIX[suffix] : 1;
  const mant = Number(int.replace(/,/g, '') + '.' + (frac || '0'));
  return { value: (sign ? -1 : 1) * mant * scale, unit: Math.pow(10, -frac.length) * scale };
}

/** readDuration reads "1d 2h 3m 4.25s", "-45s", "2h", "0s". */
export function readDuration(label: string): Read {
  if (label === 'NaN' || label === '+Inf' || label === '-Inf') return readNumber(label);
  const m = /^(-?)((?:\d+d)?)(?: ?)((?:\d+h)?)(?: ?)((?:\d+m)?)(?: ?)((?:\d+(?:\.\d+)?s)?)$/.exec(label);
  if (!m || label === '' || label === '-') throw new Error(`not a duration: ${JSON.stringify(label)}`);
  const [, sign, d, h, mi, s] = m;
  let v = 0;
  let unit = 0;
  if (d) { v += Number(d.slice(0, -1)) * 86400; unit = 86400; }
  if (h) { v += Number(h.slice(0, -1)) * 3600; unit = 3600; }
  if (mi) { v += Number(mi.slice(0, -1)) * 60; unit = 60; }
  if (s) {
    const num = s.slice(0, -1);
    v += Number(num);
    unit = Math.pow(10, -(num.split('.')[1]?.length ?? 0));
  }
  // components must come in order and each below its next unit
  if (h && Number(h.slice(0, -1)) >= 24 && d) throw new Error(`hours overflow: ${label}`);
  if (mi && Number(mi.slice(0, -1)) >= 60 && (d || h)) throw new Error(`minutes overflow: ${label}`);
  if (s && Number(s.slice(0, -1)) >= 60 && (d || h || mi)) throw new Error(`seconds overflow: ${label}`);
  return { value: sign ? -v : v, unit };
}

/** readBytes reads "512 B", "1.5 KiB", "20 MiB". */
export function readBytes(label: string): Read {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const m = /^(-?\d+(?:\.(\d+))?) (\w+)$/.exec(label);
  if (!m || !units.includes(m[3])) throw new Error(`not a size: ${JSON.stringify(label)}`);
  const scale = Math.pow(1024, units.indexOf(m[3]));
  return { value: Number(m[1]) * scale, unit: Math.pow(10, -(m[2]?.length ?? 0)) * scale };
}

/**
 * TimeReader reads a sequence of wall-clock tick labels (local time):
 * "2024", "2024-03", "2024-03-05", "03-06", "03-05 14:00", "15:00",
 * "14:00:05", "14:00:05.25"; a label without a date or year takes it from
 * the labels before it (the first one from the year given).
 */
export class TimeReader {
  private y: number; private mo = 1; private d = 1;
  constructor(year: number) { this.y = year; }
  read(label: string): Read {
    let m = /^(\d{4})$/.exec(label);
    if (m) { this.y = +m[1]; return this.at(0, 0, 0, '', 0); }
    m = /^(\d{4})-(\d\d)$/.exec(label);
    if (m) { this.y = +m[1]; this.mo = +m[2]; this.d = 1; return this.at(0, 0, 0, '', 0); }
    m = /^(?:(?:(\d{4})-)?(\d\d)-(\d\d))?(?: ?(\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?$/.exec(label);
    if (!m || label === '') throw new Error(`not a time label: ${JSON.stringify(label)}`);
    const [, y, mo, d, hh, mi, ss, frac = ''] = m;
    if (y) this.y = +y;
    if (mo) { this.mo = +mo; this.d = +d; }
    const unit = hh === undefined ? 86400 : ss === undefined ? 60 : Math.pow(10, -frac.length);
    return this.at(+(hh ?? 0), +(mi ?? 0), +(ss ?? 0), frac, unit);
  }
  private at(h: number, mi: number, s: number, frac: string, unit: number): Read {
    const ms = frac ? Number('0.' + frac) * 1000 : 0;
    const t = new Date(this.y, this.mo - 1, this.d, h, mi, s, ms).getTime() / 1000;
    return { value: t, unit };
  }
}
