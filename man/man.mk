# Man pages (issue 9): opsagent(8), opsagent.json(5), opsagent-recipes(7), opsagent-recipe(3).
# Written in mdoc; tests/man/test_man.py lints them with mandoc and checks their examples.
dist_man_MANS += \
	man/opsagent.8 \
	man/opsagent.json.5 \
	man/opsagent-recipes.7 \
	man/opsagent-recipe.3

TESTS += tests/man/test_man.py
EXTRA_DIST += tests/man/test_man.py
