#![no_main]
// Any bytes: parse as a hive, walk every key, decode every value, look paths up through the offline view.
use rdlic_core::winreg::RegistryView;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(h) = regf::Hive::parse(data) {
        let _ = h.walk(|_, k| {
            for v in k.values()? {
                let v = v?;
                let _ = v.name();
                v.decode()?;
            }
            Ok(())
        });
        let _ = h.key(r"ControlSet001\Services\TermService\Parameters\LicenseServers");
    }
    if let Ok(view) = regf::OfflineWindows::new(data, Some(data)) {
        let _ = view.value(rdlic_core::winreg::paths::LICENSING_CORE, "LicensingMode");
        let _ = view.key_exists(rdlic_core::winreg::paths::POLICY_TERMINAL_SERVICES);
    }
});
