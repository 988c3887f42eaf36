//! The policy network, "neighbours as actions": one shared MLP scores every candidate
//! outgoing channel from its features (each row also carries the payment's context), and a
//! masked softmax over the candidates gives the policy. The critic embeds every candidate,
//! averages the embeddings over the valid ones and maps that to a value. Nothing depends on
//! the node's degree or the graph, so a policy trained on one scene runs on any other.
//!
//! Also here: orthogonal initialisation and global gradient-norm clipping, which dfdx 0.13
//! does not provide.

use super::features::FEATURES;
use dfdx::nn::modules;
use dfdx::prelude::*;
use rand::Rng;
use rand_distr::StandardNormal;

/// Width of every hidden layer (fixed at compile time by dfdx's const-generic layers).
/// Hidden activations are ReLU: tanh through libm cost a fifth of training time here.
pub const HIDDEN: usize = 32;

/// Masked logits are pushed down by this finite amount (never -inf: entropy would be NaN).
pub const MASK_PENALTY: f32 = 1e8;

type ActorBuilder = (
    Linear<FEATURES, HIDDEN>,
    ReLU,
    Linear<HIDDEN, HIDDEN>,
    ReLU,
    Linear<HIDDEN, 1>,
);
type EmbedBuilder = (Linear<FEATURES, HIDDEN>, ReLU);
type HeadBuilder = (Linear<HIDDEN, HIDDEN>, ReLU, Linear<HIDDEN, 1>);

/// Actor, critic embedding and critic head: one module, one optimiser, one file.
pub type NetBuilder = (ActorBuilder, EmbedBuilder, HeadBuilder);
pub type Net = <NetBuilder as BuildOnDevice<Cpu, f32>>::Built;

/// A batch of decisions padded to the same number of candidates `k`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub b: usize,
    pub k: usize,
    /// `b * k * FEATURES` normalised features, row-major (decision, candidate, feature).
    pub x: Vec<f32>,
    /// `b * k`: 1 for a valid candidate, 0 for padding or a masked one.
    pub mask: Vec<f32>,
}

/// Build a freshly initialised network: orthogonal weights (gain sqrt 2 in hidden layers,
/// 0.01 on the policy output, 1 on the value output) and zero biases.
pub fn build(dev: &Cpu, seed: u64) -> Net {
    let mut net = dev.build_module::<NetBuilder, f32>();
    let mut rng = crate::rng::rng_for(seed, crate::rng::stream::NET_INIT);
    let g = 2f64.sqrt();
    orthogonal(&mut net.0.0, g, &mut rng);
    orthogonal(&mut net.0.2, g, &mut rng);
    orthogonal(&mut net.0.4, 0.01, &mut rng);
    orthogonal(&mut net.1.0, g, &mut rng);
    orthogonal(&mut net.2.0, g, &mut rng);
    orthogonal(&mut net.2.2, 1.0, &mut rng);
    net
}

/// Orthogonal initialisation (Saxe et al.): Gram–Schmidt on a Gaussian matrix, scaled.
fn orthogonal<const I: usize, const O: usize>(
    layer: &mut modules::Linear<I, O, f32, Cpu>,
    gain: f64,
    rng: &mut impl Rng,
) {
    // Orthonormalise along the longer side so the shorter side's vectors are orthonormal.
    let (rows, cols) = if O <= I { (O, I) } else { (I, O) };
    let mut m: Vec<Vec<f64>> = (0..rows)
        .map(|_| {
            (0..cols)
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect()
        })
        .collect();
    for i in 0..rows {
        let (done, rest) = m.split_at_mut(i);
        let row = &mut rest[0];
        for prev in done.iter() {
            let dot: f64 = row.iter().zip(prev).map(|(a, b)| a * b).sum();
            row.iter_mut().zip(prev).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        row.iter_mut().for_each(|v| *v /= norm);
    }
    // dfdx stores weight as (O, I).
    let mut w = vec![0f32; O * I];
    for o in 0..O {
        for i in 0..I {
            let v = if O <= I { m[o][i] } else { m[i][o] };
            w[o * I + i] = (v * gain) as f32;
        }
    }
    layer.weight.copy_from(&w);
    layer.bias.fill_with_zeros();
}

/// Log-probabilities `(b, k)` and values `(b,)` on tape `T`.
pub type Outputs<T> = (
    Tensor<(usize, usize), f32, Cpu, T>,
    Tensor<(usize,), f32, Cpu, T>,
);

/// Masked log-probabilities `(b, k)` and values `(b,)` for a batch, on any tape.
pub fn forward<T>(
    net: &Net,
    x: Tensor<(usize, Const<FEATURES>), f32, Cpu, T>,
    critic_x: Tensor<(usize, Const<FEATURES>), f32, Cpu, T>,
    mask: &Tensor<(usize, usize), f32, Cpu>,
    b: usize,
    k: usize,
) -> Outputs<T>
where
    T: Tape<f32, Cpu> + Merge<NoneTape>,
{
    let dev = mask.device().clone();
    // Actor: score each candidate, mask, normalise over candidates.
    let scores = net.0.forward(x).reshape_like(&(b, k));
    let bias = (mask.clone() - 1.0) * MASK_PENALTY;
    let log_probs = (scores + bias).log_softmax::<Axis<1>>();
    // Critic: mean of candidate embeddings over the valid ones, then the head.
    let emb = net
        .1
        .forward(critic_x)
        .reshape_like(&(b, k, Const::<HIDDEN>));
    let mask3 = mask
        .clone()
        .broadcast_like::<_, Axis<2>>(&(b, k, Const::<HIDDEN>));
    let pooled = (emb * mask3).sum::<(usize, Const<HIDDEN>), Axis<1>>();
    let counts: Vec<f32> = mask
        .as_vec()
        .chunks(k.max(1))
        .map(|row| 1.0 / row.iter().sum::<f32>().max(1.0))
        .collect();
    let inv = dev
        .tensor_from_vec(counts, (b,))
        .broadcast_like::<_, Axis<1>>(&(b, Const::<HIDDEN>));
    let values = net.2.forward(pooled * inv).reshape_like(&(b,));
    (log_probs, values)
}

/// Inference without a tape: log-probabilities (row-major `b * k`) and values.
pub fn infer(net: &Net, dev: &Cpu, batch: &Batch) -> (Vec<f32>, Vec<f32>) {
    if batch.b == 0 {
        return (Vec::new(), Vec::new());
    }
    let x = dev.tensor_from_vec(batch.x.clone(), (batch.b * batch.k, Const::<FEATURES>));
    let mask = dev.tensor_from_vec(batch.mask.clone(), (batch.b, batch.k));
    let (log_probs, values) = forward(net, x.clone(), x, &mask, batch.b, batch.k);
    (log_probs.as_vec(), values.as_vec())
}

/// Scale all gradients so their global L2 norm is at most `max_norm`; returns the norm
/// before clipping.
pub fn clip_grad_norm(net: &Net, grads: &mut Gradients<f32, Cpu>, max_norm: f32) -> f32 {
    struct Norm<'a> {
        grads: &'a mut Gradients<f32, Cpu>,
        sum_sq: f32,
        scale: Option<f32>,
    }
    impl TensorVisitor<f32, Cpu> for Norm<'_> {
        type Viewer = ViewTensorRef;
        type Err = <Cpu as HasErr>::Err;
        type E2 = f32;
        type D2 = Cpu;
        fn visit<S: Shape>(
            &mut self,
            opts: TensorOptions<S, f32, Cpu>,
            t: &Tensor<S, f32, Cpu>,
        ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
            if opts.do_gradient_update {
                let g = self.grads.get_or_alloc_mut(t)?;
                match self.scale {
                    None => self.sum_sq += g.iter().map(|v| v * v).sum::<f32>(),
                    Some(s) => g.iter_mut().for_each(|v| *v *= s),
                }
            }
            Ok(None)
        }
    }
    let mut op = Norm {
        grads,
        sum_sq: 0.0,
        scale: None,
    };
    Net::iter_tensors(&mut RecursiveWalker { m: net, f: &mut op }).expect("CPU visit cannot fail");
    let norm = op.sum_sq.sqrt();
    if norm > max_norm && norm.is_finite() {
        op.scale = Some(max_norm / (norm + 1e-6));
        Net::iter_tensors(&mut RecursiveWalker { m: net, f: &mut op })
            .expect("CPU visit cannot fail");
    }
    norm
}

/// All parameters flattened, in visiting order (for tests and checkpoints' sanity checks).
pub fn parameters(net: &Net) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl TensorVisitor<f32, Cpu> for Collect {
        type Viewer = ViewTensorRef;
        type Err = <Cpu as HasErr>::Err;
        type E2 = f32;
        type D2 = Cpu;
        fn visit<S: Shape>(
            &mut self,
            _: TensorOptions<S, f32, Cpu>,
            t: &Tensor<S, f32, Cpu>,
        ) -> Result<Option<Tensor<S, f32, Cpu>>, Self::Err> {
            self.0.push(t.as_vec());
            Ok(None)
        }
    }
    let mut op = Collect(Vec::new());
    Net::iter_tensors(&mut RecursiveWalker { m: net, f: &mut op }).expect("CPU visit cannot fail");
    op.0
}
