-- Tenant indexes depend on the extension; it stays.
SELECT 1;
