-- How to reach a person: a phone number (E.164, the sign-in name of residents who sign up by
-- phone), an email address, and a romanised name beside the Chinese display name.
ALTER TABLE accounts ADD COLUMN phone TEXT;
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN romanised_name TEXT;
CREATE UNIQUE INDEX accounts_phone ON accounts (phone);
CREATE UNIQUE INDEX accounts_email ON accounts (email);
