"""B2B accounts (issue 16): companies, their users and roles, hierarchy, approval, sales reps."""
