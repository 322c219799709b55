//! All integration tests in one binary: one link instead of one per file
//! keeps `cargo test` fast and its target folder small (each test binary
//! links candle). Each file is a module, so test names keep their file
//! prefix (`optim_theorem2::theorem2_...`). `tests/model_threads.rs` stays
//! its own binary because it changes RAYON_NUM_THREADS for its process.

mod architecture;
mod cli_common;
mod cli_help;
mod cli_logs;
mod cli_overrides;
mod cli_sweep;
mod cli_train;
mod config_unused;
mod data_cache;
mod data_cli;
mod data_custom_csv;
mod data_errors;
mod data_gen;
mod data_ranges;
mod data_real;
mod data_validation;
mod experiment_prune;
mod model_common;
mod model_config;
mod model_device;
mod model_forward;
mod model_gradcheck;
mod model_ops;
mod optim_checkpoint;
mod optim_config;
mod optim_hessian;
mod optim_regret;
mod optim_sparsity;
mod optim_support;
mod optim_theorem1;
mod optim_theorem2;
mod plot_chart;
mod prox_adam_equivalence;
mod prox_common;
mod prox_lasso;
mod prox_maps;
mod prox_sparsity;
mod prox_step;
mod reliability_closed_stdout;
mod reliability_degenerate;
mod reliability_disk_full;
mod reliability_divergence;
mod reliability_export;
mod reliability_fuzz;
mod reliability_locks;
mod reliability_messages;
mod reliability_paths;
mod reliability_resume;
mod reliability_selection;
mod reliability_special_files;
mod serve_unlabeled;
mod stats_auc;
mod stats_search;
mod stats_summarize;
mod stats_table;
mod stats_ttest;
mod train_feature_report;
mod train_ftrl_lr;
mod train_real_samples;
mod train_threads;
mod train_validation;
