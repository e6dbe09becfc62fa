//! Receptor's fault and abuse campaign: crashes at every step, concurrent
//! runs, hostile input, leaks and file permissions (docs/fault-campaign.md).

mod concurrency;
mod crash;
mod environ;
mod inputs;
mod leaks;
mod links;
mod permissions;
mod properties;
mod rotate;
