//! The plain optimizers (paper Table 1) and FTRL-Proximal, written the way
//! their reference implementations state them, independently of `core`:
//! the tests of Theorem 2 compare two implementations that share no code.
//!
//! All update lazily: a group (row) is touched only when it has a gradient,
//! with the global step t in bias corrections and schedules (TensorFlow's
//! lazy Adam, PyTorch's SparseAdam). Per-row state is laid out slot by slot:
//! `[slot_0[0..d], slot_1[0..d], ..]`.
//!
//! - sgd: `x -= alpha/sqrt(t) * g` (Table 1: SGD's alpha_t = alpha/sqrt(t))
//! - momentum: `b = gamma b + g; x -= alpha b`
//! - adagrad: `a += g^2; x -= alpha g / sqrt(a)`, a starting at the initial
//!   accumulator (TensorFlow's Adagrad)
//! - adam (epsilon-hat form, TensorFlow / SparseAdam):
//!   `x -= alpha sqrt(1-beta2^t)/(1-beta1^t) * m / (sqrt(v) + eps)`
//! - amsgrad: `V = max(V, v/(1-beta2^t)); x -= alpha/(1-beta1^t) * m /
//!   (sqrt(V) + eps/sqrt(1-beta2^t))` (docs/math.md: max of the corrected EMA)
//! - adahessian: adam with v the EMA of h^2, h the Hessian-diagonal estimate
//! - ftrl: FTRL-Proximal as TensorFlow's `ApplyFtrl` (lr_power -1/2).
//!
//! `lr_decay = inv_sqrt` multiplies every step size (not FTRL's) by 1/sqrt(t).

use super::row::{fits, stamp};
use super::{GroupUpdate, LrDecay, OptimizerSpec, PlainRule};

/// Build the plain optimizer `rule` names.
pub fn build(rule: PlainRule, spec: &OptimizerSpec) -> Box<dyn GroupUpdate> {
    let hp = Hyper::new(spec);
    match rule {
        PlainRule::Sgd => Box::new(Sgd(hp)),
        PlainRule::Momentum => Box::new(Momentum(hp)),
        PlainRule::Adagrad => Box::new(Adagrad(hp)),
        PlainRule::Adam => Box::new(Adam { hp, hessian: false }),
        PlainRule::Amsgrad => Box::new(Amsgrad(hp)),
        PlainRule::Adahessian => Box::new(Adam { hp, hessian: true }),
        PlainRule::Ftrl => Box::new(Ftrl(hp)),
    }
}

/// Hyperparameters plus the scalars of the prepared step.
#[derive(Debug, Clone)]
struct Hyper {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f32,
    gamma: f32,
    init_acc: f32,
    ftrl_beta: f32,
    lambda1: f32,
    lambda2: f32,
    decay: LrDecay,
    /// Step size of the prepared step (meaning depends on the optimizer).
    step_size: f32,
    /// Epsilon of the prepared step (AMSGrad's eps / sqrt(1 - beta2^t)).
    eps_t: f32,
    /// 1 / (1 - beta2^t) of the prepared step (AMSGrad).
    corr2: f32,
}

impl Hyper {
    fn new(cfg: &OptimizerSpec) -> Self {
        Self {
            lr: f64::from(cfg.lr),
            beta1: f64::from(cfg.beta1),
            beta2: f64::from(cfg.beta2),
            eps: cfg.eps,
            gamma: cfg.gamma,
            init_acc: cfg.initial_accumulator,
            ftrl_beta: cfg.ftrl_beta,
            lambda1: cfg.lambda1,
            lambda2: cfg.lambda2,
            decay: cfg.lr_decay,
            step_size: 0.0,
            eps_t: 0.0,
            corr2: 1.0,
        }
    }

    /// The learning rate at step t after the optional extra decay.
    fn lr_at(&self, t: u64) -> f64 {
        match self.decay {
            LrDecay::Constant => self.lr,
            LrDecay::InvSqrt => self.lr / (t as f64).sqrt(),
        }
    }
}

#[derive(Debug)]
struct Sgd(Hyper);

impl GroupUpdate for Sgd {
    fn state_len(&self, _d: usize) -> usize {
        0
    }
    fn prepare_step(&mut self, t: u64) {
        self.0.step_size = (self.0.lr_at(t) / (t as f64).sqrt()) as f32;
    }
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        s: &mut [f32],
        last: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        if !fits(w, g, h, s, 0) {
            return;
        }
        for (x, g) in w.iter_mut().zip(g) {
            *x -= self.0.step_size * g;
        }
        stamp(last, t);
    }
}

#[derive(Debug)]
struct Momentum(Hyper);

impl GroupUpdate for Momentum {
    fn state_len(&self, d: usize) -> usize {
        d
    }
    fn prepare_step(&mut self, t: u64) {
        self.0.step_size = self.0.lr_at(t) as f32;
    }
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        buf: &mut [f32],
        last: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        if !fits(w, g, h, buf, w.len()) {
            return;
        }
        for ((x, b), g) in w.iter_mut().zip(buf.iter_mut()).zip(g) {
            *b = self.0.gamma * *b + g;
            *x -= self.0.step_size * *b;
        }
        stamp(last, t);
    }
}

#[derive(Debug)]
struct Adagrad(Hyper);

impl GroupUpdate for Adagrad {
    fn state_len(&self, d: usize) -> usize {
        d
    }
    fn init_state(&self, _w: &[f32], acc: &mut [f32]) {
        acc.fill(self.0.init_acc);
    }
    fn prepare_step(&mut self, t: u64) {
        self.0.step_size = self.0.lr_at(t) as f32;
    }
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        acc: &mut [f32],
        last: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        if !fits(w, g, h, acc, w.len()) {
            return;
        }
        for ((x, a), g) in w.iter_mut().zip(acc.iter_mut()).zip(g) {
            *a += g * g;
            *x -= self.0.step_size * g / a.sqrt();
        }
        stamp(last, t);
    }
}

/// Adam in the epsilon-hat form; `hessian`: AdaHessian (v tracks h^2).
#[derive(Debug)]
struct Adam {
    hp: Hyper,
    hessian: bool,
}

impl GroupUpdate for Adam {
    fn state_len(&self, d: usize) -> usize {
        2 * d
    }
    fn needs_hessian(&self) -> bool {
        self.hessian
    }
    fn prepare_step(&mut self, t: u64) {
        let hp = &mut self.hp;
        let tf = t as f64;
        hp.step_size =
            (hp.lr_at(t) * (1.0 - hp.beta2.powf(tf)).sqrt() / (1.0 - hp.beta1.powf(tf))) as f32;
    }
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        st: &mut [f32],
        last: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        if !fits(w, g, h, st, 2 * w.len()) {
            return;
        }
        let d = w.len();
        let (m, v) = st.split_at_mut(d);
        let q = if self.hessian { h.unwrap_or(g) } else { g };
        let (b1, b2) = (self.hp.beta1 as f32, self.hp.beta2 as f32);
        for i in 0..d {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * q[i] * q[i];
            let denom = (v[i].sqrt() + self.hp.eps).max(f32::MIN_POSITIVE);
            w[i] -= self.hp.step_size * m[i] / denom;
        }
        stamp(last, t);
    }
}

#[derive(Debug)]
struct Amsgrad(Hyper);

impl GroupUpdate for Amsgrad {
    fn state_len(&self, d: usize) -> usize {
        3 * d
    }
    fn prepare_step(&mut self, t: u64) {
        let hp = &mut self.0;
        let tf = t as f64;
        let bc2 = 1.0 - hp.beta2.powf(tf);
        hp.step_size = (hp.lr_at(t) / (1.0 - hp.beta1.powf(tf))) as f32;
        hp.eps_t = (f64::from(hp.eps) / bc2.sqrt()) as f32;
        hp.corr2 = (1.0 / bc2) as f32;
    }
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        st: &mut [f32],
        last: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        if !fits(w, g, h, st, 3 * w.len()) {
            return;
        }
        let d = w.len();
        let (m, rest) = st.split_at_mut(d);
        let (v, vmax) = rest.split_at_mut(d);
        let (b1, b2) = (self.0.beta1 as f32, self.0.beta2 as f32);
        for i in 0..d {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            vmax[i] = vmax[i].max(v[i] * self.0.corr2);
            let denom = (vmax[i].sqrt() + self.0.eps_t).max(f32::MIN_POSITIVE);
            w[i] -= self.0.step_size * m[i] / denom;
        }
        stamp(last, t);
    }
}

/// FTRL-Proximal (McMahan et al. 2013, Algorithm 1), TensorFlow convention:
/// accumulator n starts at the initial accumulator, linear term z at 0,
/// sigma = (sqrt(n + g^2) - sqrt(n)) / alpha, and the l2 term enters the
/// denominator as 2*lambda2: `w = (sign(z) l1 - z) / ((beta + sqrt(n))/alpha + 2 l2)`.
#[derive(Debug)]
struct Ftrl(Hyper);

impl GroupUpdate for Ftrl {
    fn state_len(&self, d: usize) -> usize {
        2 * d
    }
    fn init_state(&self, _w: &[f32], st: &mut [f32]) {
        let (n, z) = st.split_at_mut(st.len() / 2);
        n.fill(self.0.init_acc);
        z.fill(0.0);
    }
    fn prepare_step(&mut self, _t: u64) {
        self.0.step_size = self.0.lr as f32;
    }
    fn update_group(
        &self,
        t: u64,
        w: &mut [f32],
        st: &mut [f32],
        last: &mut u32,
        g: &[f32],
        h: Option<&[f32]>,
    ) {
        if !fits(w, g, h, st, 2 * w.len()) {
            return;
        }
        let d = w.len();
        let (n, z) = st.split_at_mut(d);
        let hp = &self.0;
        let alpha = hp.step_size;
        for i in 0..d {
            let n_new = n[i] + g[i] * g[i];
            let sigma = (n_new.sqrt() - n[i].sqrt()) / alpha;
            z[i] += g[i] - sigma * w[i];
            n[i] = n_new;
            w[i] = if z[i].abs() <= hp.lambda1 {
                0.0
            } else {
                let quadratic = (hp.ftrl_beta + n[i].sqrt()) / alpha + 2.0 * hp.lambda2;
                (z[i].signum() * hp.lambda1 - z[i]) / quadratic
            };
        }
        stamp(last, t);
    }
}
