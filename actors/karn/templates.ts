// The 50 default blueprints, in catalog order BP001…BP050. The order is part of the contract: selection filters
// in insertion order before it sorts, and the conservative pool is "the first 10 SAFE" (selection.ts).
import { leyline, type v1 } from '../../contracts/index.ts';
import { copyDescriptor } from './descriptor.ts';

const {
  BLUEPRINT_TIER_SAFE: SAFE,
  BLUEPRINT_TIER_EXPERIMENTAL: EXPERIMENTAL,
  BLUEPRINT_TIER_HIGH_RISK: HIGH_RISK,
} = leyline.BlueprintTier;

interface TemplateRow {
  id: string;
  name: string;
  tier: v1.BlueprintTier;
  risk: number;
  stage: number;
  bounds: Readonly<Record<string, readonly [number, number]>>;
  description: string;
  approvalRequired: boolean;
  quarantineOnly: boolean;
}

type Flags = { approvalRequired: boolean; quarantineOnly: boolean };
const NO_FLAGS: Flags = { approvalRequired: false, quarantineOnly: false };
/** A: a person must approve its use. */
const A: Flags = { approvalRequired: true, quarantineOnly: false };
/** QA: quarantine-only (drills) and approval required. */
const QA: Flags = { approvalRequired: true, quarantineOnly: true };

const row = (
  id: string,
  name: string,
  tier: v1.BlueprintTier,
  risk: number,
  stage: number,
  bounds: TemplateRow['bounds'],
  description: string,
  flags: Flags = NO_FLAGS,
): TemplateRow => ({ id, name, tier, risk, stage, bounds, description, ...flags });

const NONE = {};

const ROWS: readonly TemplateRow[] = [
  row('BP001', 'identity_passthrough', SAFE, 0.0, 0, NONE, 'Identity pass-through block'),
  row('BP002', 'linear_projection', SAFE, 0.1, 0, { scale: [0.5, 2.0] }, 'Linear projection layer'),
  row('BP003', 'layer_norm_basic', SAFE, 0.1, 0, { epsilon: [1e-6, 0.001] }, 'Layer normalization'),
  row('BP004', 'dropout_light', SAFE, 0.2, 0, { dropout: [0.0, 0.4] }, 'Lightweight dropout'),
  row('BP005', 'relu_activation', SAFE, 0.1, 0, NONE, 'ReLU activation'),
  row('BP006', 'batch_norm_1d', SAFE, 0.2, 0, { momentum: [0.5, 0.99] }, '1D batch normalization'),
  row('BP007', 'pooling_max', SAFE, 0.2, 0, { kernel: [2.0, 5.0] }, 'Max pooling block'),
  row('BP008', 'skip_connection', SAFE, 0.2, 1, NONE, 'Skip connection'),
  row('BP009', 'residual_block', SAFE, 0.3, 1, { depth: [1.0, 4.0] }, 'Residual block'),
  row('BP010', 'concat_fusion', SAFE, 0.3, 1, { branches: [2.0, 4.0] }, 'Concatenation fusion block'),
  row('BP011', 'gelu_activation', SAFE, 0.2, 1, NONE, 'GELU activation'),
  row('BP012', 'layer_scaling', SAFE, 0.3, 1, { scale: [0.8, 1.2] }, 'Layer scaling block'),
  row('BP013', 'grouped_conv', SAFE, 0.4, 1, { groups: [2.0, 8.0] }, 'Grouped convolution'),
  row('BP014', 'highway_gate', SAFE, 0.4, 1, { gate_bias: [-3.0, 3.0] }, 'Highway gating block'),
  row('BP015', 'depthwise_separable', SAFE, 0.4, 2, { kernel: [3.0, 7.0] }, 'Depthwise separable convolution'),
  row('BP016', 'squeeze_excitation', SAFE, 0.4, 2, { reduction: [4.0, 16.0] }, 'Squeeze-and-Excitation block'),
  row('BP017', 'channel_attention', SAFE, 0.4, 2, { heads: [1.0, 4.0] }, 'Channel attention block'),
  row('BP018', 'spatial_attention', SAFE, 0.4, 2, { radius: [1.0, 3.0] }, 'Spatial attention block'),
  row('BP019', 'cross_attention', SAFE, 0.5, 2, { heads: [2.0, 4.0] }, 'Cross-attention module'),
  row('BP020', 'attention_single_head', SAFE, 0.5, 2, { sequence_length: [16.0, 256.0] }, 'Single-head attention'),
  row('BP021', 'feedforward_gated', SAFE, 0.5, 2, { hidden_multiple: [2.0, 6.0] }, 'Gated feed-forward block'),
  row('BP022', 'multi_head_attention_4', SAFE, 0.5, 3, { heads: [4.0, 6.0] }, 'Multi-head attention (4 heads)'),
  row('BP023', 'transformer_block', SAFE, 0.5, 3, { layers: [1.0, 6.0] }, 'Transformer encoder block'),
  row('BP024', 'conv_transformer', SAFE, 0.5, 3, { kernel: [3.0, 11.0] }, 'Hybrid conv-transformer block'),
  row('BP025', 'dynamic_conv', SAFE, 0.5, 3, { experts: [2.0, 8.0] }, 'Dynamic convolution module'),
  row('BP026', 'adaptive_pooling', SAFE, 0.5, 3, { output_size: [4.0, 16.0] }, 'Adaptive pooling head'),
  row('BP027', 'feature_pyramid', SAFE, 0.5, 3, { levels: [3.0, 5.0] }, 'Feature pyramid fusion'),
  row('BP028', 'dense_connection', SAFE, 0.5, 3, { growth_rate: [8.0, 48.0] }, 'Dense connection block'),
  row('BP029', 'multi_head_attention_8', SAFE, 0.5, 4, { heads: [8.0, 10.0] }, 'Multi-head attention (8 heads)'),
  row('BP030', 'graph_attention', SAFE, 0.5, 4, { hops: [1.0, 3.0] }, 'Graph attention layer'),
  row('BP031', 'temporal_conv', SAFE, 0.5, 4, { dilation: [1.0, 5.0] }, 'Temporal convolution'),
  row('BP032', 'dilated_conv', SAFE, 0.5, 4, { dilation: [1.0, 8.0] }, 'Dilated convolution stack'),
  row('BP033', 'deformable_conv', SAFE, 0.5, 4, { offset_groups: [1.0, 4.0] }, 'Deformable convolution'),
  row('BP034', 'non_local_block', SAFE, 0.5, 4, { window: [4.0, 16.0] }, 'Non-local attention block'),
  row('BP035', 'learned_positional', SAFE, 0.5, 4, { frequency: [0.1, 1.0] }, 'Learned positional encoding'),
  row(
    'BP036',
    'mixture_of_experts_4',
    EXPERIMENTAL,
    0.7,
    5,
    { experts: [4.0, 8.0], capacity: [1.0, 2.0] },
    'Mixture-of-Experts block (4 experts)',
    A,
  ),
  row(
    'BP037',
    'hierarchical_attention',
    EXPERIMENTAL,
    0.7,
    5,
    { levels: [2.0, 4.0] },
    'Hierarchical attention module',
    A,
  ),
  row('BP038', 'memory_augmented', EXPERIMENTAL, 0.8, 5, { memory_slots: [32.0, 128.0] }, 'Memory-augmented block', A),
  row('BP039', 'neural_ode_block', EXPERIMENTAL, 0.8, 5, { steps: [1.0, 10.0] }, 'Neural ODE integration block', A),
  row('BP040', 'differentiable_nas', EXPERIMENTAL, 0.8, 5, { temperature: [0.5, 2.0] }, 'Differentiable NAS head', A),
  row(
    'BP041',
    'meta_learning_layer',
    EXPERIMENTAL,
    0.8,
    5,
    { adapt_steps: [1.0, 5.0] },
    'Meta-learning adaptation layer',
    A,
  ),
  row('BP042', 'recursive_processing', EXPERIMENTAL, 0.8, 5, { depth: [2.0, 6.0] }, 'Recursive processing block', A),
  row('BP043', 'exploding_gradient', HIGH_RISK, 0.9, 6, { scale: [5.0, 20.0] }, 'Exploding gradient stressor', QA),
  row('BP044', 'vanishing_gradient', HIGH_RISK, 0.9, 6, { decay: [0.0, 0.1] }, 'Vanishing gradient stressor', QA),
  row(
    'BP045',
    'nan_injection',
    HIGH_RISK,
    1.0,
    6,
    { frequency: [0.01, 0.1] },
    'NaN injection adversarial template',
    QA,
  ),
  row(
    'BP046',
    'infinite_loop',
    HIGH_RISK,
    1.0,
    6,
    { iterations: [1000.0, 10000.0] },
    'Infinite loop adversarial template',
    QA,
  ),
  row('BP047', 'memory_leak', HIGH_RISK, 1.0, 6, { growth_rate: [1.0, 5.0] }, 'Memory leak simulation', QA),
  row('BP048', 'deadlock_pattern', HIGH_RISK, 1.0, 6, { threads: [2.0, 16.0] }, 'Deadlock pattern stressor', QA),
  row(
    'BP049',
    'race_condition',
    HIGH_RISK,
    0.9,
    6,
    { window_ns: [10.0, 1000.0] },
    'Race condition adversarial template',
    QA,
  ),
  row('BP050', 'adversarial_noise', HIGH_RISK, 0.9, 6, { epsilon: [0.1, 1.0] }, 'Adversarial noise injection', QA),
];

/** How many default blueprints there are (50). */
export const DEFAULT_BLUEPRINT_COUNT = ROWS.length;

/** The 50 default blueprints as fresh descriptors (callers may mutate them), in order BP001…BP050. */
export function defaultBlueprints(): v1.BlueprintDescriptor[] {
  return ROWS.map((template) =>
    copyDescriptor({
      blueprintId: template.id,
      name: template.name,
      tier: template.tier,
      allowedParameters: Object.fromEntries(
        Object.entries(template.bounds).map(([key, [minValue, maxValue]]) => [key, { minValue, maxValue }]),
      ),
      risk: template.risk,
      stage: template.stage,
      quarantineOnly: template.quarantineOnly,
      approvalRequired: template.approvalRequired,
      description: template.description,
    }),
  );
}
