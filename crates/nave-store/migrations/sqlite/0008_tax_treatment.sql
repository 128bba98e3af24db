-- How each account is taxed: standard, exempt or reverse charge.
ALTER TABLE accounts ADD COLUMN tax_treatment TEXT NOT NULL DEFAULT 'standard';
