//! Python binding of `asb-core` and `asb-wire`: converts types and errors, nothing else (one
//! error type, `errors::Error`). Each module is a thin layer over one part of the crates;
//! this file only registers them as `asbkit._codec`.

mod convert;
mod errors;
mod files;
mod remote;
mod restore;
mod summary;
mod types;
mod wire;

use pyo3::prelude::*;

#[pymodule]
fn _codec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The package's version (maturin takes it from this crate): no metadata lookup at import.
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<types::Header>()?;
    m.add_class::<types::Key>()?;
    m.add_class::<types::Bin>()?;
    m.add_class::<types::Record>()?;
    m.add_class::<types::SecondaryIndex>()?;
    m.add_class::<types::Udf>()?;
    m.add_class::<files::Reader>()?;
    m.add_class::<files::Writer>()?;
    m.add_class::<summary::Summarizer>()?;
    m.add_class::<convert::ConvertCounts>()?;
    m.add_class::<summary::BackupSummary>()?;
    m.add_class::<summary::FileSummary>()?;
    m.add_class::<summary::SetSummary>()?;
    m.add_class::<summary::BinSummary>()?;
    m.add_class::<summary::ValueRange>()?;
    m.add_class::<summary::DeepSummary>()?;
    m.add_class::<summary::DeepIssue>()?;
    m.add_function(wrap_pyfunction!(files::list_backup_files, m)?)?;
    m.add_function(wrap_pyfunction!(files::proven_cuts, m)?)?;
    m.add_function(wrap_pyfunction!(remote::s3_configure, m)?)?;
    m.add_function(wrap_pyfunction!(remote::remote_list, m)?)?;
    m.add_function(wrap_pyfunction!(remote::remote_size, m)?)?;
    m.add_function(wrap_pyfunction!(remote::remote_get, m)?)?;
    m.add_function(wrap_pyfunction!(remote::remote_put, m)?)?;
    m.add_function(wrap_pyfunction!(remote::remote_delete, m)?)?;
    m.add_function(wrap_pyfunction!(remote::remote_abort, m)?)?;
    m.add_function(wrap_pyfunction!(remote::file_sha256, m)?)?;
    m.add("PIECE_SIZE", asb_core::parallel::PIECE_SIZE)?;
    m.add(
        "DEFAULT_MEMORY_DIGESTS",
        asb_core::deep::DEFAULT_MEMORY_DIGESTS,
    )?;
    m.add("CONVERT_PIECE_SIZE", asb_core::convert::CONVERT_PIECE_SIZE)?;
    m.add_function(wrap_pyfunction!(files::stage_output, m)?)?;
    m.add_function(wrap_pyfunction!(files::write_synthetic, m)?)?;
    m.add_function(wrap_pyfunction!(types::compute_digest, m)?)?;
    m.add_function(wrap_pyfunction!(convert::asb_to_jsonl, m)?)?;
    m.add_function(wrap_pyfunction!(convert::jsonl_to_asb, m)?)?;
    m.add_function(wrap_pyfunction!(convert::asb_to_asb, m)?)?;
    m.add_class::<wire::BackupOutput>()?;
    m.add_class::<wire::BackupJob>()?;
    m.add_class::<wire::BackupCheckpoint>()?;
    m.add_class::<wire::TlsConfig>()?;
    m.add_class::<wire::ScanResult>()?;
    m.add_class::<wire::PyFileStats>()?;
    m.add_class::<wire::PartitionProgress>()?;
    m.add_function(wrap_pyfunction!(wire::scan_partitions, m)?)?;
    m.add_function(wrap_pyfunction!(wire::info, m)?)?;
    m.add_function(wrap_pyfunction!(wire::hash_password, m)?)?;
    m.add_class::<restore::RestoreRun>()?;
    m.add_class::<restore::RecordFailure>()?;
    Ok(())
}
