from dqguard.worker.serve import main

main()
