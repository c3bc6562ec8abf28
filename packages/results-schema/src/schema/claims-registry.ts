// The claims registry schema (tables, rows, cells naming rig/metric/labels/statistic) lands here.
export {};
