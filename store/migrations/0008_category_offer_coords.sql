-- 0008_category_offer_coords: the categories the open category question lists (docs/contract.md
-- 6.1: the likeliest two or three when the classifier is not sure; NULL: the full menu), so an
-- answer by number maps to what was shown; and the coordinates of a case whose resident shared a
-- location (docs/contract.md 4.2, 6.1; NULL: none shared).
ALTER TABLE conversations ADD COLUMN category_offer TEXT;
ALTER TABLE cases ADD COLUMN latitude REAL;
ALTER TABLE cases ADD COLUMN longitude REAL;
