/* A shared object that is not a recipe: no opsagent_recipe symbol. */
int not_a_recipe(void);
int not_a_recipe(void)
{
        return 42;
}
