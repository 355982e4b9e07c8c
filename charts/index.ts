// The SVG charts the run report, the learning report and Nissa's live dashboard draw alike, and their colours.
export { CHART_STYLE, lineChart, type LineChartOptions, type Mark, type Series } from './line-chart.ts';
export { esc } from './escape.ts';
export { STAGE_COLORS, stageColor } from './stage-colors.ts';
