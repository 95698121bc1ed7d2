/* placeholder */
#include "opsagent/recipe.h"
