/**
 * The monthly report as a PDF: title, summary figures, daily energy and cost
 * bars, daily ComEd price, and the session table, drawn as vector graphics
 * with pdfkit's built-in fonts so it prints sharp at any size.
 */
import { wallClockAt } from '@twc/core/time/wall-clock';
import PDFDocument from 'pdfkit';
import type { MonthlyReportData } from './report-data.js';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const INK = '#1d2330';
const MUTED = '#5b6475';
const ENERGY = '#2f6fdf';
const COST = '#e07b00';
const GRID = '#d9dce3';

export const money = (usd: number) => `$${usd.toFixed(2)}`;
export const kwh = (wh: number) => `${(wh / 1000).toFixed(2)} kWh`;
const cents = (value: number | null) => (value === null ? '–' : `${value.toFixed(2)} ¢/kWh`);

export function monthTitle(month: string): string {
  const [year, number] = month.split('-');
  return `${MONTHS[Number(number) - 1]} ${year}`;
}

function localTime(ms: number, timeZone: string): string {
  const wall = wallClockAt(ms, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[wall.month - 1]?.slice(0, 3)} ${wall.day}, ${pad(wall.hour)}:${pad(wall.minute)}`;
}

function duration(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** A round number at or above `value` for an axis: 1, 2, 2.5 or 5 times a power of ten. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

type Doc = PDFKit.PDFDocument;

/** An axis tick: no decimals unless the value has some. */
const tick = (value: number) => String(Math.round(value * 100) / 100);

function figures(doc: Doc, data: MonthlyReportData, top: number): number {
  const { totals } = data;
  const cells: [string, string][] = [
    ['Energy', kwh(totals.energy_wh)],
    ['Total cost', money(totals.total_cost_usd)],
    ['Average price', cents(totals.avg_price_cents_kwh)],
    ['Sessions', String(totals.sessions)],
    ['Supply', money(totals.supply_cost_usd)],
    ['Delivery and other', money(totals.adders_cost_usd)],
    ['Taxes', money(totals.tax_cost_usd)],
    ['Saved vs flat rate', money(totals.saving_vs_flat_usd)],
  ];
  const left = doc.page.margins.left;
  const width = (doc.page.width - left - doc.page.margins.right) / 4;
  cells.forEach(([label, value], index) => {
    const x = left + (index % 4) * width;
    const y = top + Math.floor(index / 4) * 46;
    doc.roundedRect(x + 2, y, width - 4, 40, 4).fill('#f1f3f7');
    doc
      .fillColor(MUTED)
      .font('Helvetica')
      .fontSize(8)
      .text(label, x + 10, y + 7, { width: width - 20 });
    doc
      .fillColor(INK)
      .font('Helvetica-Bold')
      .fontSize(13)
      .text(value, x + 10, y + 19, { width: width - 20 });
  });
  return top + 2 * 46 + 6;
}

function axisLabel(doc: Doc, text: string, x: number, y: number, align: 'left' | 'right', color = MUTED): void {
  doc.fillColor(color).font('Helvetica').fontSize(7);
  doc.text(text, align === 'right' ? x - 40 : x, y - 4, { width: 40, align, lineBreak: false });
}

/** Paired bars per day: energy (left axis, kWh) and cost (right axis, $). */
function dailyChart(doc: Doc, data: MonthlyReportData, top: number): number {
  const left = doc.page.margins.left + 36;
  const right = doc.page.width - doc.page.margins.right - 36;
  const height = 140;
  const bottom = top + 22 + height;
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(11).text('Daily energy and cost', doc.page.margins.left, top);
  const maxKwh = niceCeiling(Math.max(...data.days.map((d) => d.energyWh / 1000), 0));
  const maxUsd = niceCeiling(Math.max(...data.days.map((d) => d.totalCostUsd), 0));
  for (let i = 0; i <= 4; i++) {
    const y = bottom - (height * i) / 4;
    doc.moveTo(left, y).lineTo(right, y).lineWidth(0.5).strokeColor(GRID).stroke();
    axisLabel(doc, tick((maxKwh * i) / 4), left - 4, y, 'right', ENERGY);
    axisLabel(doc, `$${tick((maxUsd * i) / 4)}`, right + 4, y, 'left', COST);
  }
  const slot = (right - left) / Math.max(data.days.length, 1);
  const bar = Math.max(1, slot * 0.36);
  data.days.forEach((day, index) => {
    const x = left + index * slot + slot * 0.12;
    const energyHeight = (height * day.energyWh) / 1000 / maxKwh;
    const costHeight = (height * Math.max(day.totalCostUsd, 0)) / maxUsd;
    if (energyHeight > 0) doc.rect(x, bottom - energyHeight, bar, energyHeight).fill(ENERGY);
    if (costHeight > 0) doc.rect(x + bar, bottom - costHeight, bar, costHeight).fill(COST);
    if (index % 5 === 0 || index === data.days.length - 1) {
      axisLabel(doc, day.date.slice(8), x - 20 + bar, bottom + 8, 'right');
    }
  });
  doc.rect(left, bottom + 18, 8, 8).fill(ENERGY);
  doc
    .fillColor(MUTED)
    .fontSize(8)
    .text('energy (kWh)', left + 12, bottom + 18, { lineBreak: false });
  doc.rect(left + 90, bottom + 18, 8, 8).fill(COST);
  doc
    .fillColor(MUTED)
    .fontSize(8)
    .text('cost (USD)', left + 102, bottom + 18, { lineBreak: false });
  return bottom + 36;
}

/** The daily average ComEd price as a line, with the day's low-high range as a band. */
function priceChart(doc: Doc, data: MonthlyReportData, top: number): number {
  const left = doc.page.margins.left + 36;
  const right = doc.page.width - doc.page.margins.right - 36;
  const height = 110;
  const bottom = top + 22 + height;
  doc
    .fillColor(INK)
    .font('Helvetica-Bold')
    .fontSize(11)
    .text('ComEd price, daily average and range', doc.page.margins.left, top);
  const prices = data.prices;
  const low = Math.min(0, ...prices.map((p) => p.min_price_cents_kwh));
  const high = niceCeiling(Math.max(1, ...prices.map((p) => p.max_price_cents_kwh)));
  const y = (value: number) => bottom - ((value - low) / (high - low)) * height;
  for (let i = 0; i <= 4; i++) {
    const value = low + ((high - low) * i) / 4;
    doc.moveTo(left, y(value)).lineTo(right, y(value)).lineWidth(0.5).strokeColor(GRID).stroke();
    axisLabel(doc, `${tick(value)}¢`, left - 4, y(value), 'right');
  }
  const dayIndex = new Map(data.days.map((day, index) => [day.date, index]));
  const slot = (right - left) / Math.max(data.days.length, 1);
  const x = (point: (typeof prices)[number]) => {
    const date = new Date(Date.parse(point.start) + 2 * 3_600_000);
    const wall = wallClockAt(date.getTime(), data.timeZone);
    const key = `${wall.year}-${String(wall.month).padStart(2, '0')}-${String(wall.day).padStart(2, '0')}`;
    return left + ((dayIndex.get(key) ?? 0) + 0.5) * slot;
  };
  if (prices.length > 0) {
    doc.save();
    prices.forEach((point, index) => {
      if (index === 0) doc.moveTo(x(point), y(point.max_price_cents_kwh));
      else doc.lineTo(x(point), y(point.max_price_cents_kwh));
    });
    for (const point of [...prices].reverse()) doc.lineTo(x(point), y(point.min_price_cents_kwh));
    doc.closePath().fillOpacity(0.18).fill(ENERGY);
    doc.restore();
    prices.forEach((point, index) => {
      if (index === 0) doc.moveTo(x(point), y(point.avg_price_cents_kwh));
      else doc.lineTo(x(point), y(point.avg_price_cents_kwh));
    });
    doc.lineWidth(1.5).strokeColor(ENERGY).stroke();
  } else {
    doc
      .fillColor(MUTED)
      .fontSize(9)
      .text('No prices recorded this month.', left, top + 60);
  }
  return bottom + 20;
}

function sessionTable(doc: Doc, data: MonthlyReportData, top: number): void {
  const left = doc.page.margins.left;
  const columns: [string, number, 'left' | 'right'][] = [
    ['Start', 110, 'left'],
    ['Charger', 80, 'left'],
    ['Duration', 70, 'right'],
    ['Energy', 70, 'right'],
    ['Avg price', 80, 'right'],
    ['Cost', 80, 'right'],
  ];
  let y = top;
  const header = () => {
    doc.fillColor(INK).font('Helvetica-Bold').fontSize(11).text('Sessions', left, y);
    y += 18;
    let x = left;
    doc.font('Helvetica-Bold').fontSize(8).fillColor(MUTED);
    for (const [title, width, align] of columns) {
      doc.text(title, x, y, { width, align });
      x += width;
    }
    y += 12;
    doc
      .moveTo(left, y)
      .lineTo(left + 490, y)
      .lineWidth(0.5)
      .strokeColor(GRID)
      .stroke();
    y += 4;
  };
  header();
  if (data.sessions.length === 0) {
    doc.font('Helvetica').fontSize(9).fillColor(MUTED).text('No charging sessions this month.', left, y);
    return;
  }
  doc.font('Helvetica').fontSize(9);
  data.sessions.forEach((session, index) => {
    if (y > doc.page.height - doc.page.margins.bottom - 20) {
      doc.addPage();
      y = doc.page.margins.top;
      header();
      doc.font('Helvetica').fontSize(9);
    }
    if (index % 2 === 1) doc.rect(left, y - 2, 490, 14).fill('#f6f7f9');
    const cells = [
      localTime(Date.parse(session.start_time), data.timeZone),
      session.charger_name,
      duration(session.duration_s),
      kwh(session.energy_wh),
      cents(session.avg_price_cents_kwh),
      session.total_cost_usd === null ? '–' : money(session.total_cost_usd),
    ];
    let x = left;
    doc.fillColor(INK);
    cells.forEach((text, column) => {
      const [, width, align] = columns[column] as [string, number, 'left' | 'right'];
      doc.text(text, x, y, { width, align, lineBreak: false });
      x += width;
    });
    y += 14;
  });
}

/** Renders the report; resolves with the PDF bytes. */
export function renderMonthlyReport(data: MonthlyReportData): Promise<Buffer> {
  const doc = new PDFDocument({
    size: 'LETTER',
    margin: 50,
    info: { Title: `Wall Connector report, ${monthTitle(data.month)}`, Creator: 'twc-dashboard' },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const left = doc.page.margins.left;
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(20).text('Wall Connector monthly report', left, 50);
  doc
    .fillColor(MUTED)
    .font('Helvetica')
    .fontSize(11)
    .text(`${monthTitle(data.month)} · ${data.timeZone} · ComEd Hourly Pricing`, left, 76);
  doc
    .fontSize(8)
    .text(
      `Generated ${new Date(data.generatedMs).toISOString().slice(0, 16).replace('T', ' ')} UTC${data.totals.provisional ? ' · some prices were still missing: figures are provisional' : ''}`,
      left,
      92,
    );
  let y = figures(doc, data, 112);
  y = dailyChart(doc, data, y + 8);
  y = priceChart(doc, data, y + 6);
  sessionTable(doc, data, y + 6);
  doc.end();
  return done;
}
