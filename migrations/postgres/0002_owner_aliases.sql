-- A directory lists a person under their email and under a code host login
-- (a GitHub login): the login's row names its person, so a request made under
-- the login is that person's own (no self-approval). NULL: the row is the person.
-- (SQLite's migration 0007.)
ALTER TABLE owners ADD COLUMN person TEXT;
CREATE INDEX owners_person ON owners(person) WHERE person IS NOT NULL;
