// A colour per seed lifecycle stage (by its lower-case name, `training`), the same wherever a seed's stage is drawn.

export const STAGE_COLORS: Readonly<Record<string, string>> = {
  dormant: '#d9d9d9',
  germinated: '#a6cee3',
  training: '#1f78b4',
  blending: '#b2df8a',
  shadowing: '#33a02c',
  probationary: '#fdbf6f',
  fossilized: '#6a3d9a',
  culled: '#e31a1c',
  embargoed: '#fb9a99',
  resetting: '#ff7f00',
  terminated: '#7f7f7f',
};

/** A stage's colour; a stage not listed (unknown) gets a neutral grey. */
export const stageColor = (stage: string): string => STAGE_COLORS[stage] ?? '#bdbdbd';
